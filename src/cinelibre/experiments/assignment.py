"""Who sees which variant: a pure function of the experiment and the caller, so every instance
assigns a caller alike, on every request, with nothing stored."""

import hashlib
from collections.abc import Sequence

# 2^64: the hash's first 8 bytes read as a fraction of this land uniformly in [0, 1).
_HASH_SPAN = float(1 << 64)


def subject_of(user_id: int | None, client_id: str | None) -> str | None:
    """Whom an assignment sticks to: the account when signed in, else the browser's client id;
    None (no experiment) for a caller with neither."""
    if user_id is not None:
        return f"user:{user_id}"
    if client_id is not None:
        return f"client:{client_id}"
    return None


def position_of(experiment_id: int, subject: str) -> float:
    """The subject's place in [0, 1) for this experiment. Salting with the experiment's id makes
    assignments of different experiments independent: the same users are not always treated."""
    digest = hashlib.sha256(f"{experiment_id}:{subject}".encode()).digest()
    return int.from_bytes(digest[:8], "big") / _HASH_SPAN


def variant_for(experiment_id: int, subject: str, variants: Sequence[tuple[str, float]]) -> str:
    """The variant whose share covers the subject's place; the shares sum to 1 (the last variant
    takes any rounding left at the end)."""
    place = position_of(experiment_id, subject)
    covered = 0.0
    for name, share in variants:
        covered += share
        if place < covered:
            return name
    return variants[-1][0]
