-- wrk script for benchmarks/production_load.py: builds each request of a run and writes the run's
-- figures as JSON when it ends.
--
-- It is not run by itself: production_load.py writes a small Lua file per run that defines the
-- globals below and then `dofile`s this one (wrk loads the script once in its main Lua state and
-- once per thread, so every state gets the same tables):
--
--   TOKENS              signed access tokens of benchmark raters ("eyJ...")
--   UNCACHED_TOKENS     tokens of other raters, whose personalized lists nothing has asked for yet
--   SIMILAR_MOVIE_IDS   rated movie ids for /recommendations/similar/movie/<id>
--   CATALOGUE_MOVIE_IDS every movie id, for POST /ratings
--   SEARCH_PATHS        "/search/semantic?q=..." with the query already URL-encoded
--   MIX                 { {"endpoint name", weight}, ... }; one entry for a single-endpoint run
--   START_OFFSET        where the rotations start (runs of one endpoint carry on where the last stopped)
--   RESULT_PATH         where done() writes its JSON

local threads = {}

-- Runs in the main state before the threads start: number them so that each one starts its
-- rotations at a different place and seeds its own random numbers.
function setup(thread)
   table.insert(threads, thread)
   thread:set("thread_number", #threads)
end

local positions = {}

-- The next element of a list, round-robin; each thread starts at its own offset.
local function rotate(name, list)
   local position = positions[name] or (START_OFFSET or 0) + ((thread_number or 1) - 1) * 97
   positions[name] = position + 1
   return list[position % #list + 1]
end

local function bearer(token)
   return { ["Authorization"] = "Bearer " .. token }
end

local builders = {
   root = function()
      return wrk.format("GET", "/")
   end,
   movies = function()
      return wrk.format("GET", "/movies")
   end,
   popular = function()
      return wrk.format("GET", "/recommendations/popular")
   end,
   personalized = function()
      return wrk.format("GET", "/recommendations/personalized", bearer(rotate("tokens", TOKENS)))
   end,
   personalized_uncached = function()
      return wrk.format("GET", "/recommendations/personalized", bearer(rotate("uncached", UNCACHED_TOKENS)))
   end,
   similar = function()
      return wrk.format("GET", "/recommendations/similar/movie/" .. rotate("similar", SIMILAR_MOVIE_IDS))
   end,
   search = function()
      return wrk.format("GET", rotate("search", SEARCH_PATHS))
   end,
   ratings = function()
      local headers = bearer(TOKENS[math.random(#TOKENS)])
      headers["Content-Type"] = "application/json"
      -- half stars 0.5 to 5.0, always written with a decimal point (the API wants a JSON number
      -- that is a multiple of 0.5)
      local body = string.format(
         '{"item_id": %d, "item_type": "movie", "rating": %.1f}',
         CATALOGUE_MOVIE_IDS[math.random(#CATALOGUE_MOVIE_IDS)],
         math.random(1, 10) / 2
      )
      return wrk.format("POST", "/ratings", headers, body)
   end,
}

local chosen_builders = {}
local cumulative_weights = {}
local total_weight = 0
for _, entry in ipairs(MIX) do
   local builder = builders[entry[1]]
   if builder == nil then
      error("unknown endpoint in MIX: " .. tostring(entry[1]))
   end
   total_weight = total_weight + entry[2]
   table.insert(chosen_builders, builder)
   table.insert(cumulative_weights, total_weight)
end

-- Runs once per thread, in the thread's own state.
function init(args)
   math.randomseed(7919 * (thread_number or 1))
   statuses = {}
end

function request()
   if #chosen_builders == 1 then
      return chosen_builders[1]()
   end
   local draw = math.random() * total_weight
   for index, limit in ipairs(cumulative_weights) do
      if draw < limit then
         return chosen_builders[index]()
      end
   end
   return chosen_builders[#chosen_builders]()
end

-- Every status is counted here: wrk's own "status" error count only sees codes of 400 and up,
-- and the report breaks errors down by status (a 401 means a bad token, a 500 the server).
function response(status, headers, body)
   statuses[status] = (statuses[status] or 0) + 1
end

function done(summary, latency, requests)
   local merged = {}
   for _, thread in ipairs(threads) do
      for status, count in pairs(thread:get("statuses") or {}) do
         merged[status] = (merged[status] or 0) + count
      end
   end
   local non_2xx = 0
   local status_fields = {}
   for status, count in pairs(merged) do
      if status < 200 or status > 299 then
         non_2xx = non_2xx + count
      end
      table.insert(status_fields, string.format('"%d": %d', status, count))
   end
   local errors = summary.errors
   local socket_errors = errors.connect + errors.read + errors.write + errors.timeout
   local file = assert(io.open(RESULT_PATH, "w"))
   file:write(string.format(
      '{"requests": %d, "duration_seconds": %.6f, "errors": %d, "non_2xx": %d, '
         .. '"socket_errors": {"connect": %d, "read": %d, "write": %d, "timeout": %d}, '
         .. '"latency_ms": {"p50": %.3f, "p95": %.3f, "p99": %.3f, "max": %.3f}, "statuses": {%s}}\n',
      summary.requests, summary.duration / 1e6, non_2xx + socket_errors, non_2xx,
      errors.connect, errors.read, errors.write, errors.timeout,
      latency:percentile(50) / 1000, latency:percentile(95) / 1000, latency:percentile(99) / 1000,
      latency.max / 1000, table.concat(status_fields, ", ")
   ))
   file:close()
end
