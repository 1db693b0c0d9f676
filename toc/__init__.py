"""TOC: a unified-communications server (calls, chat, SMS, presence, meetings), and its desktop app
(`toc.desktop`). Nothing is imported here, so the desktop app loads without the server's
dependencies; the Celery application is loaded when Django starts (`toc.lib.apps`)."""
