-- wrk script: POST one Anthropic Messages request (non-streaming) on every call, and print
-- a one-line JSON summary at the end for bench/peers.py.
-- The model name can be overridden with the BENCH_MODEL environment variable.
local model = os.getenv("BENCH_MODEL") or "claude-sonnet-4-5"
wrk.method = "POST"
wrk.path = "/v1/messages"
wrk.headers["content-type"] = "application/json"
wrk.headers["x-api-key"] = "bench"
wrk.headers["anthropic-version"] = "2023-06-01"
wrk.body = '{"model":"' .. model .. '","max_tokens":64,"messages":[{"role":"user","content":"hello"}]}'

function done(summary, latency, requests)
   local e = summary.errors
   io.write(string.format(
      'WRKJSON {"requests":%d,"duration_us":%d,"p50_us":%d,"p90_us":%d,"p99_us":%d,"max_us":%d,' ..
      '"mean_us":%.1f,"connect_err":%d,"read_err":%d,"write_err":%d,"timeout_err":%d,"status_err":%d}\n',
      summary.requests, summary.duration, latency:percentile(50), latency:percentile(90),
      latency:percentile(99), latency.max, latency.mean, e.connect, e.read, e.write, e.timeout,
      e.status))
end
