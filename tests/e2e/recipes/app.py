"""The WSGI application of the uWSGI recipe: / answers at once; /slow logs that it started,
works for 2 s, then answers "slow done" (a request in flight when the stop comes)."""
import sys
import time


def application(environ, start_response):
    body = b"ok\n"
    if environ.get("PATH_INFO") == "/slow":
        print("app: slow request started", file=sys.stderr, flush=True)
        time.sleep(2)
        body = b"slow done\n"
    start_response("200 OK", [("Content-Type", "text/plain"),
                              ("Content-Length", str(len(body)))])
    return [body]
