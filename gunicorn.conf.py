"""gunicorn settings for production: ``gunicorn -c gunicorn.conf.py 'survey:create_app()'``."""

import multiprocessing
import os

# Loopback behind nginx (deploy/, docs/deploy.md). Any other address needs TLS here
# (SURVEY_TLS_CERT and SURVEY_TLS_KEY) or SURVEY_PLAIN_HTTP_LAN=yes: see on_starting.
bind = os.environ.get("SURVEY_BIND", "127.0.0.1:8000")
certfile = os.environ.get("SURVEY_TLS_CERT") or None
keyfile = os.environ.get("SURVEY_TLS_KEY") or None
workers = int(os.environ.get("SURVEY_WORKERS", multiprocessing.cpu_count() * 2 + 1))
timeout = 30
# files the server creates (the SQLite database and its -wal, log files) are its own: 0600.
# gunicorn's own `umask` setting covers only its sockets; this process's umask is inherited
# by the workers.
os.umask(0o077)
accesslog = "-"
# A ballot URL carries its code: survey.logs.RedactingLogger blanks /b/<code> and ?code= in
# every access and error line. No %(h)s (client address) either.
logger_class = "survey.logs.RedactingLogger"
access_log_format = '%(t)s "%(m)s %(U)s" %(s)s %(b)s %(L)ss'


def on_starting(server):  # noqa: ANN001, ANN201
    """Refuse to start, in one line, on a network address in plain HTTP unless told so
    (survey/serving.py); when the code key is not the one the codes were issued under (every
    printed code would be turned away as "already used"), or the ballot box secret is not the
    one open rounds were sealed under (their ballots could not be counted)."""
    from survey.codes.services import startup_check
    from survey.serving import check_serving

    verdict = check_serving(server.cfg.bind, server.cfg.certfile, server.cfg.keyfile,
                            os.environ.get("SURVEY_PLAIN_HTTP_LAN"))
    if verdict.refusal:
        server.log.error("refusing to start: %s", verdict.refusal)
        raise SystemExit(1)
    if verdict.warning:
        server.log.warning("%s", verdict.warning)
    problem = startup_check()
    if problem:
        server.log.error("refusing to start: %s", problem)
        raise SystemExit(1)
