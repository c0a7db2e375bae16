-- wrk script: a fixed form POST with HTTP Basic client authentication.
-- Environment: WW_BASIC ("Basic ..."), WW_BODY (the urlencoded form).
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/x-www-form-urlencoded"
wrk.headers["Authorization"] = os.getenv("WW_BASIC")
wrk.body = os.getenv("WW_BODY")
