"""Run the test OIDC provider: `python -m tests.oidc_provider.server --port N` (127.0.0.1 only).

It migrates its own SQLite database, then serves with Django's runserver, without the reloader,
so the process the fixture started is the one that serves and the one it stops.
"""

import argparse
import os


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--port", type=int, required=True)
    arguments = parser.parse_args()
    os.environ["DJANGO_SETTINGS_MODULE"] = "tests.oidc_provider.settings"

    import django
    from django.core.management import call_command

    django.setup()
    call_command("migrate", verbosity=0, interactive=False)
    call_command("runserver", f"127.0.0.1:{arguments.port}", use_reloader=False, use_threading=True)


if __name__ == "__main__":
    main()
