"""Prompt templates: paper-faithful wordings, few-shot blocks, chat wrapping, personas."""
