from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from toc.lib import embedded, env


class Command(BaseCommand):
    help = "Run TOC in its embedded default: private Redis, SQLite, web + worker + beat, demo organisation."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--host", default=env.get_str("HOST", "127.0.0.1"))
        parser.add_argument("--port", type=int, default=env.get_int("PORT", 8000))

    def handle(self, *args: Any, **options: Any) -> None:
        code = embedded.run(host=options["host"], port=options["port"], stdout=self.stdout)
        if code:
            raise SystemExit(code)
