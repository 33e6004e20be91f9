/**
 * The Lua scripts behind RedisState. Each runs atomically in Redis: one script is one step no other
 * instance can interleave with, which is what makes a shared rate window or budget exact.
 *
 * A record is a hash: `v` (its version, from one counter for the whole namespace, so versions order
 * every write), `d` (its JSON), and for counters kept per process one `i:<instance>` field per
 * instance holding that instance's part (`d` is then their sum). Every change is published on the
 * namespace's channel as `<version> <pttl> <["space","key"]>\n<json>` (a pttl of -2: deleted); the
 * changes of one script go in one message, one after another (JSON holds no raw newline), after a
 * first line naming the instance that made them (empty for the sweep), so that one skips its own
 * changes unread: it has them from the script's reply.
 */

/**
 * Every write RedisState makes, as operations run in order in one script: the writes a request makes
 * within one turn of the event loop (its admission, or its settling: usage, spend, releases, averages)
 * cost one round trip and one published message, not one each.
 *
 * KEYS[1]: the version counter; KEYS[2]: the set of per-process counters; then each operation's keys.
 * ARGV[1]: the channel; ARGV[2]: this instance; then per operation: its kind, how many keys and how
 * many arguments it takes, and those arguments. Returns one reply per operation:
 * - `cas` (record; json, expected version ('' = absent, '=' = as this script last wrote it: chained
 *   to an earlier cas of the same batch), ttl ms (0 = keep), header): writes the json if the record is
 *   still at that version. {1, version, '', pttl} when written; {0, version, json,
 *   pttl} (the record as it is) when not.
 * - `incr` (record; delta, ttl ms for a new record, '1' when the count is this instance's part,
 *   '1' to add only to a record that exists, header): {1, version, json, pttl}, or {0} when it did
 *   nothing. Replaying what was counted while Redis was away adds only to a record Redis still has: a
 *   counter it lost starts from its owner's history instead.
 * - `set` (record; json, ttl ms (0 = none), header): {version, pttl}.
 * - `del` (record; header): {version}; the deletion is published even when Redis had none (a copy may
 *   still hold it).
 * - `reserve` (each budget's spent and held counters, in pairs; amount, '1' when a budget already
 *   used up (spent + held ≥ limit) refuses even a free call (nothing is held for one), then per budget: limit, seed
 *   (the spent counter's start when Redis has none), ttl ms for a counter created here, the spent and
 *   the held counters' headers): holds the amount on every budget (this instance's part) only if it
 *   fits in all of them. {index of the first budget it would pass (0-based), or -1 when held; then
 *   each counter as it now is: version, json, pttl ('', '', -2 when absent)}.
 */
export const BATCH = `
local VERSION, PER_PROCESS, CHANNEL, INSTANCE = KEYS[1], KEYS[2], ARGV[1], ARGV[2]
local changes = {}
-- The version counter is read once and written back once: the script runs alone, so counting here
-- orders the writes as an INCR per write would, at a fraction of the calls.
local version = tonumber(redis.call('GET', VERSION) or '0')
local function changed(header, v, pttl, json)
  changes[#changes + 1] = v .. ' ' .. pttl .. ' ' .. header .. '\\n' .. json
end
-- The version each record was last written at in this script, for a chained cas ('=').
local written = {}
local function write(record, json)
  version = version + 1
  redis.call('HSET', record, 'v', version, 'd', json)
  written[record] = version
  return version
end
-- A record's expiry after a write: the ttl it was given, else the one it had (-1: none).
local function expire(record, ttl, had)
  if tonumber(ttl) > 0 then
    redis.call('PEXPIRE', record, ttl)
    return tonumber(ttl)
  end
  return had
end
local ops = {}

function ops.cas(k, a)
  local current = redis.call('HMGET', k[1], 'v', 'd')
  local seen = current[1] or ''
  local expected = a[2]
  if expected == '=' then expected = written[k[1]] and tostring(written[k[1]]) or false end
  if seen ~= expected then return {0, seen, current[2] or '', redis.call('PTTL', k[1])} end
  local v = write(k[1], a[1])
  local pttl = tonumber(a[3]) > 0 and expire(k[1], a[3]) or redis.call('PTTL', k[1])
  changed(a[4], v, pttl, a[1])
  return {1, tostring(v), '', pttl}
end

function ops.incr(k, a)
  local had = redis.call('PTTL', k[1])
  local existed = had ~= -2
  if a[4] == '1' and not existed then return {0} end
  local total
  if a[3] == '1' then
    local field = 'i:' .. INSTANCE
    local mine = tonumber(redis.call('HINCRBYFLOAT', k[1], field, a[1]))
    if math.abs(mine) < 1e-9 then redis.call('HDEL', k[1], field) end
    total = 0
    local all = redis.call('HGETALL', k[1])
    for i = 1, #all, 2 do
      if string.sub(all[i], 1, 2) == 'i:' then total = total + tonumber(all[i + 1]) end
    end
    if not existed then redis.call('SADD', PER_PROCESS, k[1]) end
  else
    total = tonumber(redis.call('HGET', k[1], 'd') or '0') + tonumber(a[1])
  end
  local json = string.format('%.17g', total)
  local v = write(k[1], json)
  local pttl = existed and had or expire(k[1], a[2], -1)
  changed(a[5], v, pttl, json)
  return {1, tostring(v), json, pttl}
end

function ops.set(k, a)
  redis.call('DEL', k[1])
  local v = write(k[1], a[1])
  local pttl = expire(k[1], a[2], -1)
  changed(a[3], v, pttl, a[1])
  return {tostring(v), pttl}
end

function ops.del(k, a)
  version = version + 1
  written[k[1]] = nil
  redis.call('DEL', k[1])
  changed(a[1], version, -2, '')
  return {tostring(version)}
end

function ops.reserve(k, a)
  local amount, refuseUsedUp = tonumber(a[1]), a[2] == '1'
  local function arg(budget, field) return a[2 + (budget - 1) * 5 + field] end
  for b = 1, #k / 2 do
    local spent = k[b * 2 - 1]
    if redis.call('EXISTS', spent) == 0 then
      local v = write(spent, arg(b, 2))
      changed(arg(b, 4), v, expire(spent, arg(b, 3), -1), arg(b, 2))
    end
  end
  local refused = -1
  for b = 1, #k / 2 do
    local spent = tonumber(redis.call('HGET', k[b * 2 - 1], 'd'))
    local held = tonumber(redis.call('HGET', k[b * 2], 'd') or '0')
    local limit = tonumber(arg(b, 1))
    if spent + held + amount > limit + 1e-9 or (refuseUsedUp and spent + math.max(0, held) >= limit) then
      refused = b - 1
      break
    end
  end
  if refused < 0 and amount > 0 then
    for b = 1, #k / 2 do ops.incr({k[b * 2]}, {a[1], arg(b, 3), '1', '', arg(b, 5)}) end
  end
  local out = {refused}
  for i = 1, #k do
    local record = redis.call('HMGET', k[i], 'v', 'd')
    table.insert(out, record[1] or '')
    table.insert(out, record[2] or '')
    table.insert(out, redis.call('PTTL', k[i]))
  end
  return out
end

local replies = {}
local key, at = 3, 3
while at <= #ARGV do
  local kind, keyCount, argCount = ARGV[at], tonumber(ARGV[at + 1]), tonumber(ARGV[at + 2])
  local k, a = {}, {}
  for i = 1, keyCount do k[i] = KEYS[key + i - 1] end
  for i = 1, argCount do a[i] = ARGV[at + 2 + i] end
  key = key + keyCount
  at = at + 3 + argCount
  table.insert(replies, ops[kind](k, a))
end
if #changes > 0 then
  redis.call('SET', VERSION, version)
  redis.call('PUBLISH', CHANNEL, INSTANCE .. '\\n' .. table.concat(changes, '\\n'))
end
return replies
`;

/**
 * Drops the parts of per-process counters whose instance stopped renewing its liveness key (it died),
 * and publishes the counters that changed. KEYS[1]: the set of per-process counters; ARGV[1]: the
 * liveness key prefix; ARGV[2]: the channel; ARGV[3]: the namespace prefix of record keys. Returns how
 * many counters changed.
 */
export const SWEEP = `
local changed = 0
for _, record in ipairs(redis.call('SMEMBERS', KEYS[1])) do
  if redis.call('EXISTS', record) == 0 then
    redis.call('SREM', KEYS[1], record)
  else
    local all = redis.call('HGETALL', record)
    local total, dropped = 0, false
    for i = 1, #all, 2 do
      local field = all[i]
      if string.sub(field, 1, 2) == 'i:' then
        if redis.call('EXISTS', ARGV[1] .. string.sub(field, 3)) == 0 then
          redis.call('HDEL', record, field)
          dropped = true
        else
          total = total + tonumber(all[i + 1])
        end
      end
    end
    if dropped then
      local v = redis.call('INCR', KEYS[2])
      local json = string.format('%.17g', total)
      redis.call('HSET', record, 'v', v, 'd', json)
      local rest = string.sub(record, #ARGV[3] + 1)
      local colon = string.find(rest, ':', 1, true)
      local header = cjson.encode({string.sub(rest, 1, colon - 1), string.sub(rest, colon + 1)})
      -- No origin (the first line is empty): every instance takes it, the sweeping one too.
      redis.call('PUBLISH', ARGV[2], '\\n' .. v .. ' ' .. redis.call('PTTL', record) .. ' ' .. header .. '\\n' .. json)
      changed = changed + 1
    end
  end
end
return changed
`;
