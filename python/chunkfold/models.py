"""The chat models, where they were first published: see :mod:`chunkfold.chat.models`."""

from chunkfold.chat.models import *  # noqa: F403
from chunkfold.chat.models import __all__ as __all__
