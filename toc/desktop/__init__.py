"""The TOC desktop app: a pywebview window (Qt backend, QtWebEngine) around the communicator.

`python -m toc.desktop`. It imports nothing of the server: it talks to a TOC server over HTTPS
like a browser does, so it can be packaged on its own (packaging/).
"""
