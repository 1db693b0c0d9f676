"""Ids that arrive from clients."""

import uuid


def as_uuid(value: object) -> uuid.UUID | None:
    """`value` as a UUID, or None if it is not one (an id that came from a client)."""
    try:
        return uuid.UUID(str(value)) if isinstance(value, str | uuid.UUID) else None
    except ValueError:
        return None
