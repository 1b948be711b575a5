"""Reward models (issue 10.2): the RewardModel interface, JCM pair accuracy, ``train rm`` and
reward-labelled preferences (``prefs from-rm``). Submodules import torch lazily where they can;
import them directly (``culturealign.rewards.model`` etc.)."""
