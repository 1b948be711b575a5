"""CultureSPA (Xu et al., NAACL 2025) end to end: self-generated culture questions, culture-aware
and culture-unaware answers, the inconsistency filter, LoRA SFT and the before/after WVS-18 table.

Steps (each a command in ``culturealign culturespa`` and a cached stage of a ``kind: culturespa``
spec): :mod:`.questions` + :mod:`.generate` -> :mod:`.answer` -> :mod:`.filter` -> :mod:`.train`
-> :mod:`.evaluate`; :mod:`.pipeline` chains them. docs/tasks/culturespa.md has the details.
"""
