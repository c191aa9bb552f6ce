"""HTTP pieces both services share: problem details, request limits, rate limits, the access log."""
