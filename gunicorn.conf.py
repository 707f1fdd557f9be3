"""gunicorn settings for production: ``gunicorn -c gunicorn.conf.py 'survey:create_app()'``."""

import multiprocessing
import os

bind = os.environ.get("SURVEY_BIND", "127.0.0.1:8000")
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
    """Refuse to start, in one line, when the code key is not the one the codes were issued
    under: every printed code would be turned away as "already used"."""
    from survey.codes.services import startup_check

    problem = startup_check()
    if problem:
        server.log.error("refusing to start: %s", problem)
        raise SystemExit(1)


def post_worker_init(worker):  # noqa: ANN001, ANN201
    """Let the app see whether connections are waiting to be accepted: a ballot request that
    ends with none waiting and none in progress empties SQLite's -wal before its page is sent
    (survey/wal.py). And empty a log a worker killed outright may have left."""
    from survey.database import empty_wal_at_start
    from survey.wal import watch_listeners

    watch_listeners([listener.sock for listener in worker.sockets])
    empty_wal_at_start(worker.wsgi)
