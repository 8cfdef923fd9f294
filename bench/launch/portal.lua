-- wrk script: POST /api/portal for one active install (set by run.sh through env).
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.body = os.getenv("PORTAL_BODY")
