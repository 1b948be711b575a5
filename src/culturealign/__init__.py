"""culturealign: measure and change how language models judge morality and values.

Importing the package is cheap: torch, transformers and the backends load only when a model
is built.
"""

from culturealign.errors import CultureAlignError

__version__ = "0.1.0"
__all__ = ["CultureAlignError", "__version__"]
