"""Chat messages as text: what a judge reads from a conversation (one home for the trainer front-ends).

Trainers hand prompts and completions over as plain strings or as conversations, lists of
``{"role": ..., "content": ...}`` messages whose content is a string or a list of content blocks
(``[{"type": "text", "text": ...}, ...]``). A prompt-aware judge compares answers with what was asked, so it
reads the **last user message** of a conversation: not the system prompt, and not a chat template's words
(``system``, ``assistant``, a knowledge-cutoff date) that a decoded, templated prompt would carry.

Example:
    >>> prompt_text([{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Capital of France?"}])
    'Capital of France?'
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

__all__ = ["content_text", "prompt_text"]


def content_text(content: Any) -> str:
    """The text of one message's ``content``: a string as is, the text parts of a list of content blocks joined.

    Example:
        >>> content_text([{"type": "text", "text": "Hi "}, {"type": "image"}, {"type": "text", "text": "there"}])
        'Hi there'
    """
    if content is None:
        return ""
    if isinstance(content, str):
        return content
    if isinstance(content, Sequence):  # content blocks: [{"type": "text", "text": ...}, ...]
        return "".join(str(part.get("text", "")) for part in content if isinstance(part, Mapping))
    raise TypeError(f"message content must be a string or a list of content blocks, got {type(content).__name__}")


def prompt_text(prompt: Any) -> str | None:
    """The prompt a prompt-aware judge sees: a string as is; for a conversation, its last user message.

    ``None`` for ``None`` and for a conversation without a user message (the caller then falls back to
    whatever text it has, or judges without a prompt).

    Example:
        >>> prompt_text("Name a colour.")
        'Name a colour.'
        >>> prompt_text([{"role": "user", "content": "Hi"}, {"role": "assistant", "content": "Hello"},
        ...              {"role": "user", "content": "Name a colour."}])
        'Name a colour.'
    """
    if prompt is None or isinstance(prompt, str):
        return prompt
    if isinstance(prompt, Sequence) and not isinstance(prompt, (bytes, bytearray)):
        users = [m for m in prompt if isinstance(m, Mapping) and m.get("role") == "user"]
        if users:
            return content_text(users[-1].get("content"))
    return None
