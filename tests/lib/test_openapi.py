"""The OpenAPI schema at /api/schema/ is valid and generated without a single warning (a
warning there means clients would be generated wrong: two components with one name, two
operations with one id)."""

from pathlib import Path

import pytest
from django.core.management import call_command


@pytest.mark.django_db
def test_the_schema_is_valid_and_has_no_warnings(tmp_path: Path) -> None:
    # when (fails with SchemaGenerationError on any warning)
    call_command("spectacular", "--validate", "--fail-on-warn", "--file", str(tmp_path / "schema.yaml"))

    # then
    schema = (tmp_path / "schema.yaml").read_text()
    assert "operationId: calls_history_clear" in schema
    assert "  MessageListOutput:" in schema and "  HistoryListOutput:" in schema
