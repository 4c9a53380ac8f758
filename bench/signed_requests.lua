-- wrk script: send pre-signed Beckn requests from a file, each exactly once.
--
-- Environment:
--   YT_REQUESTS  file with one request per line: "<Authorization header>\t<JSON body>"
--   YT_PATH      request path, e.g. /beckn/confirm
--   YT_GAP_MS    optional pause per connection between requests (pacing a fixed offered load)
--   YT_SKIP      optional number of lines to skip (already sent by an earlier run)
--   YT_OK        text a successful answer contains (default "ACK" in quotes)
--
-- Prints one JSON line (prefixed "YT-RESULT ") with counts and latency percentiles.
-- Run with a single wrk thread (-t1) so the file is read once and never re-sent.

local requests = {}
local next_index = 0
local not_acked = 0
local reused = 0
local gap_ms = tonumber(os.getenv("YT_GAP_MS") or "0")
local ok_marker = os.getenv("YT_OK") or '"ACK"'
local threads = {}

function setup(thread)
  table.insert(threads, thread)
end

function init(args)
  local path = os.getenv("YT_PATH")
  next_index = tonumber(os.getenv("YT_SKIP") or "0")
  for line in io.lines(os.getenv("YT_REQUESTS")) do
    local auth, body = line:match("^([^\t]*)\t(.*)$")
    requests[#requests + 1] = wrk.format("POST", path,
      { ["Content-Type"] = "application/json", ["Authorization"] = auth }, body)
  end
end

function request()
  next_index = next_index + 1
  if next_index > #requests then
    next_index = 1
    reused = reused + 1
  end
  return requests[next_index]
end

if gap_ms > 0 then
  function delay()
    return gap_ms
  end
end

function response(status, headers, body)
  if status ~= 200 or not body:find(ok_marker, 1, true) then
    not_acked = not_acked + 1
  end
  wrk.thread:set("not_acked", not_acked)
  wrk.thread:set("reused", reused)
end

function done(summary, latency, requests_stats)
  local nacks, wraps = 0, 0
  for _, thread in ipairs(threads) do
    nacks = nacks + (thread:get("not_acked") or 0)
    wraps = wraps + (thread:get("reused") or 0)
  end
  local errors = summary.errors
  io.write(string.format(
    'YT-RESULT {"requests":%d,"seconds":%.6f,"not_acked":%d,"wrapped":%d,' ..
    '"socket_errors":%d,"p50_ms":%.3f,"p90_ms":%.3f,"p99_ms":%.3f,"max_ms":%.3f}\n',
    summary.requests, summary.duration / 1e6, nacks, wraps,
    errors.connect + errors.read + errors.write + errors.timeout,
    latency:percentile(50) / 1000, latency:percentile(90) / 1000, latency:percentile(99) / 1000,
    latency.max / 1000))
end
