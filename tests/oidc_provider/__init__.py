"""A real OpenID Connect provider for tests: a tiny Django project running django-oauth-toolkit.

It runs as its own process on 127.0.0.1 (see `fixtures.py`), with its own settings, SQLite
database in a temporary folder and an RS256 key made at start, so TOC's SSO is tested against
the same kind of discovery, authorize, token, JWKS and userinfo endpoints Microsoft Entra
serves, over real HTTP. Nothing here is imported by TOC itself.
"""
