from django.apps import AppConfig


class LibConfig(AppConfig):
    name = "toc.lib"
    label = "toc_lib"

    def ready(self) -> None:
        # Bind @shared_task to TOC's Celery app in every process that starts Django.
        import toc.celery  # noqa: F401
