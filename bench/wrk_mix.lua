-- wrk script for `make load-test` (bench/load_test.py) and `make bench` (bench/run.py: one case's paths, e.g.
-- Q7's 50 ids, or Q6's one cursor URL): cycles through the request paths in the environment variable
-- LOAD_PATHS (newline-separated) and counts responses by status class across threads.
local threads = {}

function setup(thread)
  table.insert(threads, thread)
end

function init(args)
  paths = {}
  for path in string.gmatch(os.getenv("LOAD_PATHS") or "/health/live", "[^\n]+") do
    table.insert(paths, path)
  end
  counter = 0
  statuses = {}
end

function request()
  counter = counter + 1
  return wrk.format("GET", paths[(counter % #paths) + 1])
end

function response(status, headers, body)
  local class = tostring(math.floor(status / 100)) .. "xx"
  statuses[class] = (statuses[class] or 0) + 1
end

function done(summary, latency, requests)
  local totals = {}
  for _, thread in ipairs(threads) do
    for class, n in pairs(thread:get("statuses")) do
      totals[class] = (totals[class] or 0) + n
    end
  end
  local parts = {}
  for class, n in pairs(totals) do
    table.insert(parts, string.format('"%s": %d', class, n))
  end
  io.write(string.format(
    'WRK_RESULT {"requests": %d, "duration_us": %d, "socket_errors": %d, "timeouts": %d, ' ..
    '"p50_us": %d, "p90_us": %d, "p99_us": %d, "max_us": %d, "statuses": {%s}}\n',
    summary.requests, summary.duration,
    summary.errors.connect + summary.errors.read + summary.errors.write, summary.errors.timeout,
    latency:percentile(50), latency:percentile(90), latency:percentile(99), latency.max,
    table.concat(parts, ", ")))
end
