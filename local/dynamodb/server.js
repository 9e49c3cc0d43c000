#!/usr/bin/env node
'use strict'
/*
 * A local DynamoDB: dynalite 4.0.0 (in memory) plus TransactWriteItems, which dynalite lacks.
 *
 *   node server.js [--host 127.0.0.1] [--port 0] [--latency-ms 0] [--exit-on-stdin-eof]
 *
 * Prints one JSON line, {"port": N}, once it listens; stops on SIGTERM/SIGINT and, with
 * --exit-on-stdin-eof, when its stdin closes (a parent holding the pipe takes it along when it dies).
 *
 * TransactWriteItems takes dynalite's own per-item locks (itemDb.lock, as dynalite's UpdateItem does)
 * for every item of the transaction, in one order (table name, then key) so that two transactions
 * never wait for each other in a cycle; it then checks every condition before it writes anything,
 * and writes each table's items with one LevelDB batch. A single-item write on any of these items
 * waits for the transaction, and the transaction waits for it. dynalite's reads take no lock, so a
 * GetItem between two tables' batches could see half of a transaction that spans tables (the quota's
 * spans one table, written in one batch).
 *
 * --latency-ms X delays every response by X ms, after the work and its locks: the benchmark wants
 * DynamoDB's few milliseconds and this machine has no `tc netem`. The delay holds no lock, so it
 * slows each caller without queueing the others behind it.
 *
 * deepClone, applyUpdateExpression, resolveValue, deleteFromParent and addToParent are copied
 * unchanged from dynalite 4.0.0 actions/updateItem.js (https://github.com/architect/dynalite,
 * Copyright Michael Hart, Apache License 2.0), which does not export them.
 */

const crypto = require('crypto')
const zlib = require('zlib')
const Big = require('big.js')
const dynalite = require('dynalite')
const db = require('dynalite/db')
const validations = require('dynalite/validations')
const putItemValidation = require('dynalite/validations/putItem')
const updateItemValidation = require('dynalite/validations/updateItem')
const deleteItemValidation = require('dynalite/validations/deleteItem')

const TARGET = 'DynamoDB_20120810.TransactWriteItems'
const MAX_REQUEST_BYTES = 16 * 1024 * 1024
const OPERATIONS = [ 'ConditionCheck', 'Put', 'Delete', 'Update' ]

function parseArgs (argv) {
  const options = { host: '127.0.0.1', port: 0, latencyMs: 0, exitOnStdinEof: false }
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === '--exit-on-stdin-eof') {
      options.exitOnStdinEof = true
      continue
    }
    const [ flag, inline ] = argv[i].split(/=(.*)/s)
    const value = inline !== undefined ? inline : argv[++i]
    if (value === undefined) usage(`${flag} needs a value`)
    if (flag === '--host') options.host = value
    else if (flag === '--port') options.port = Number(value)
    else if (flag === '--latency-ms') options.latencyMs = Number(value)
    else usage(`unknown option ${flag}`)
  }
  if (!Number.isInteger(options.port) || options.port < 0 || options.port > 65535) usage('--port must be 0..65535')
  if (!Number.isFinite(options.latencyMs) || options.latencyMs < 0) usage('--latency-ms must be a number >= 0')
  return options
}

function usage (problem) {
  process.stderr.write(`server.js: ${problem}\nusage: node server.js [--host H] [--port N] [--latency-ms X] [--exit-on-stdin-eof]\n`)
  process.exit(2)
}

// ---- wire format -------------------------------------------------------------------------------

function sendData (res, data, statusCode) {
  const body = JSON.stringify(data)
  res.statusCode = statusCode || 200
  // botocore verifies x-amz-crc32 when present; zlib.crc32 exists from Node 20.15.
  if (typeof zlib.crc32 === 'function') res.setHeader('x-amz-crc32', zlib.crc32(body))
  res.setHeader('Content-Type', res.contentType || 'application/x-amz-json-1.0')
  res.setHeader('Content-Length', Buffer.byteLength(body, 'utf8'))
  res.end(body)
}

function requestId () {
  return crypto.randomBytes(39).toString('base64').toUpperCase().replace(/\+|\//g, '0')
}

function transactionCanceled (reasons) {
  const message = 'Transaction cancelled, please refer cancellation reasons for specific reasons [' +
    reasons.map(function (reason) { return reason.Code }).join(', ') + ']'
  const err = new Error(message)
  err.statusCode = 400
  err.body = {
    __type: 'com.amazonaws.dynamodb.v20120810#TransactionCanceledException',
    CancellationReasons: reasons,
    Message: message,
  }
  return err
}

// The same request checks, in the same order, as dynalite's httpHandler before it dispatches.
function handleTransactWriteItems (store, req, res) {
  const chunks = []
  let length = 0
  req.on('data', function (chunk) {
    length += chunk.length
    if (length > MAX_REQUEST_BYTES) {
      req.removeAllListeners()
      res.statusCode = 413
      res.setHeader('Transfer-Encoding', 'chunked')
      res.end()
      return
    }
    chunks.push(chunk)
  })
  req.on('end', function () {
    const body = Buffer.concat(chunks).toString()
    res.setHeader('x-amzn-RequestId', requestId())
    const contentType = (req.headers['content-type'] || '').split(';')[0].trim()
    if (req.method !== 'POST' ||
        (body && contentType !== 'application/json' && contentType !== 'application/x-amz-json-1.0')) {
      res.statusCode = 404
      res.setHeader('Content-Length', 29)
      return res.end('<UnknownOperationException/>\n')
    }
    res.contentType = contentType !== 'application/x-amz-json-1.0' ? 'application/json' : contentType
    let data
    if (body) {
      try {
        data = JSON.parse(body)
      }
      catch {
        return sendData(res, { __type: 'com.amazon.coral.service#SerializationException' }, 400)
      }
    }
    const auth = req.headers.authorization
    const queryAuth = new URL(req.url, 'http://localhost').searchParams.has('X-Amz-Algorithm')
    if ((!auth && !queryAuth) || (auth && auth.trim().slice(0, 5) !== 'AWS4-')) {
      return sendData(res, {
        __type: 'com.amazon.coral.service#MissingAuthenticationTokenException',
        message: 'Request is missing Authentication Token',
      }, 400)
    }
    if (!body) return sendData(res, { __type: 'com.amazon.coral.service#SerializationException' }, 400)
    try {
      data = validations.checkTypes(data, TYPES)
      validations.checkValidations(data, TYPES, validateTransaction, store)
    }
    catch (err) {
      if (err.statusCode) return sendData(res, err.body, err.statusCode)
      throw err
    }
    transactWriteItems(store, data, function (err, result) {
      if (err && err.statusCode) return sendData(res, err.body, err.statusCode)
      if (err) {
        process.stderr.write(`TransactWriteItems failed: ${err.stack || err}\n`)
        return sendData(res, { __type: 'com.amazonaws.dynamodb.v20120810#InternalServerError', message: String(err) }, 500)
      }
      sendData(res, result)
    })
  })
}

// ---- validation (dynalite's type checker and its single-item rules) ----------------------------

function tableName () {
  return { type: 'String', notNull: true, regex: '[a-zA-Z0-9_.-]+', lengthGreaterThanOrEqual: 3, lengthLessThanOrEqual: 255 }
}
function attributeMap (notNull) {
  // dynalite runs every listed rule, whatever its value: leave notNull out rather than false.
  const type = { type: 'Map<AttributeValue>', children: 'AttrStruct<ValueStruct>' }
  if (notNull) type.notNull = true
  return type
}
function expressionFields () {
  return {
    ExpressionAttributeNames: { type: 'Map<java.lang.String>', children: 'String' },
    ExpressionAttributeValues: attributeMap(false),
    ReturnValuesOnConditionCheckFailure: { type: 'String', enum: [ 'ALL_OLD', 'NONE' ] },
  }
}

const TYPES = {
  ClientRequestToken: { type: 'String', lengthGreaterThanOrEqual: 1, lengthLessThanOrEqual: 36 },
  ReturnConsumedCapacity: { type: 'String', enum: [ 'INDEXES', 'TOTAL', 'NONE' ] },
  ReturnItemCollectionMetrics: { type: 'String', enum: [ 'SIZE', 'NONE' ] },
  TransactItems: {
    type: 'List',
    notNull: true,
    lengthGreaterThanOrEqual: 1,
    lengthLessThanOrEqual: 100,
    children: {
      type: 'ValueStruct<TransactWriteItem>',
      children: {
        ConditionCheck: {
          type: 'FieldStruct<ConditionCheck>',
          children: Object.assign({ Key: attributeMap(true), TableName: tableName(),
            ConditionExpression: { type: 'String', notNull: true } }, expressionFields()),
        },
        Put: {
          type: 'FieldStruct<Put>',
          children: Object.assign({ Item: attributeMap(true), TableName: tableName(),
            ConditionExpression: { type: 'String' } }, expressionFields()),
        },
        Delete: {
          type: 'FieldStruct<Delete>',
          children: Object.assign({ Key: attributeMap(true), TableName: tableName(),
            ConditionExpression: { type: 'String' } }, expressionFields()),
        },
        Update: {
          type: 'FieldStruct<Update>',
          children: Object.assign({ Key: attributeMap(true), UpdateExpression: { type: 'String', notNull: true },
            TableName: tableName(), ConditionExpression: { type: 'String' } }, expressionFields()),
        },
      },
    },
  },
}

const SINGLE_ITEM_RULES = {
  ConditionCheck: deleteItemValidation.custom, // Key + ConditionExpression: DeleteItem's rules
  Put: putItemValidation.custom,
  Delete: deleteItemValidation.custom,
  Update: updateItemValidation.custom,
}

// Returns a message (dynalite turns it into a ValidationException) or nothing. The single-item rules
// also parse the expressions, leaving _condition and _updates on each operation.
function validateTransaction (data, store) {
  for (const item of data.TransactItems) {
    const present = OPERATIONS.filter(function (name) { return item[name] != null })
    if (present.length !== 1) return 'TransactItems can only contain one of Check, Put, Update or Delete'
    const msg = SINGLE_ITEM_RULES[present[0]](item[present[0]], store)
    if (msg) return msg
  }
}

// ---- the transaction ---------------------------------------------------------------------------

function transactWriteItems (store, data, cb) {
  const ops = data.TransactItems.map(function (item) {
    const kind = OPERATIONS.find(function (name) { return item[name] != null })
    return { kind: kind, req: item[kind] }
  })
  const names = [ ...new Set(ops.map(function (op) { return op.req.TableName })) ]
  const tables = Object.create(null)
  let pending = names.length, failed = false
  names.forEach(function (name) {
    store.getTable(name, function (err, table) {
      if (failed) return
      if (err) {
        failed = true
        return cb(err)
      }
      tables[name] = table
      if (--pending === 0) prepare()
    })
  })

  function prepare () {
    const seen = new Set()
    for (const op of ops) {
      const table = tables[op.req.TableName]
      const invalid = op.kind === 'Put' ? db.validateItem(op.req.Item, table) :
        db.validateKey(op.req.Key, table) ||
        (op.kind === 'Update' ? db.validateUpdates(null, op.req._updates, table) : null)
      if (invalid) return cb(invalid)
      op.table = table
      op.itemDb = store.getItemDb(op.req.TableName)
      op.key = db.createKey(op.kind === 'Put' ? op.req.Item : op.req.Key, table)
      const id = op.req.TableName + '\u0000' + op.key
      if (seen.has(id)) return cb(db.validationError('Transaction request cannot include multiple operations on one item'))
      seen.add(id)
    }
    lockAll(ops.slice().sort(function (a, b) {
      return compare(a.req.TableName, b.req.TableName) || compare(a.key, b.key)
    }), 0, [])
  }

  function lockAll (ordered, i, releases) {
    if (i === ordered.length) {
      let released = false
      const done = function (err, result) {
        if (released) return
        released = true
        releases.forEach(function (release) { release()() })
        cb(err, result)
      }
      try {
        return run(done)
      }
      catch (err) {
        return done(err)
      }
    }
    ordered[i].itemDb.lock(ordered[i].key, function (release) {
      releases.push(release)
      lockAll(ordered, i + 1, releases)
    })
  }

  function run (done) {
    let pendingReads = ops.length, readError = null
    ops.forEach(function (op) {
      op.itemDb.get(op.key, function (err, existing) {
        if (err && err.name !== 'NotFoundError') readError = readError || err
        op.existing = err ? undefined : existing
        if (--pendingReads === 0) {
          if (readError) return done(readError)
          try {
            checkAndWrite(done)
          }
          catch (err) {
            done(err) // never leave the items locked
          }
        }
      })
    })
  }

  function checkAndWrite (done) {
    // Every condition, against the state under the locks, before any write.
    let reasons = ops.map(function (op) {
      if (db.checkConditional(op.req, op.existing) == null) return { Code: 'None' }
      const reason = { Code: 'ConditionalCheckFailed', Message: 'The conditional request failed' }
      if (op.req.ReturnValuesOnConditionCheckFailure === 'ALL_OLD' && op.existing) reason.Item = op.existing
      return reason
    })
    if (reasons.some(isFailure)) return done(transactionCanceled(reasons))

    // The new items; an update that cannot apply (wrong operand type, too large) cancels it all.
    reasons = ops.map(function (op) {
      if (op.kind === 'Put') op.item = op.req.Item
      else if (op.kind === 'Delete') op.item = null
      else if (op.kind === 'Update') {
        op.item = op.existing ? deepClone(op.existing) : deepClone(op.req.Key)
        const err = applyUpdateExpression(op.req._updates.sections, op.table, op.item)
        if (err) return { Code: 'ValidationError', Message: err.message }
        if (db.itemSize(op.item) > store.options.maxItemSize) {
          return { Code: 'ValidationError', Message: 'Item size to update has exceeded the maximum allowed size' }
        }
      }
      return { Code: 'None' }
    })
    if (reasons.some(isFailure)) return done(transactionCanceled(reasons))

    const writes = ops.filter(function (op) { return op.kind !== 'ConditionCheck' })
    const byTable = new Map()
    writes.forEach(function (op) {
      if (!byTable.has(op.req.TableName)) byTable.set(op.req.TableName, [])
      byTable.get(op.req.TableName).push(op.item ? { type: 'put', key: op.key, value: op.item } : { type: 'del', key: op.key })
    })
    const batches = [ ...byTable ]
    const writeBatch = function (i) {
      if (i === batches.length) return writeIndexes(0)
      store.getItemDb(batches[i][0]).batch(batches[i][1], function (err) {
        if (err) return done(err)
        writeBatch(i + 1)
      })
    }
    const writeIndexes = function (i) {
      if (i === writes.length) return done(null, result())
      db.updateIndexes(store, writes[i].table, writes[i].existing, writes[i].item, function (err) {
        if (err) return done(err)
        writeIndexes(i + 1)
      })
    }
    writeBatch(0)
  }

  // A transactional write costs twice a plain write, a transactional read twice a strong read.
  function result () {
    if (data.ReturnConsumedCapacity !== 'TOTAL' && data.ReturnConsumedCapacity !== 'INDEXES') return {}
    const perTable = new Map()
    ops.forEach(function (op) {
      const entry = perTable.get(op.req.TableName) || { read: 0, write: 0 }
      if (op.kind === 'ConditionCheck') entry.read += 2 * db.capacityUnits(op.existing, true, true)
      else entry.write += 2 * Math.max(db.capacityUnits(op.item, false), op.existing ? db.capacityUnits(op.existing, false) : 0)
      perTable.set(op.req.TableName, entry)
    })
    return {
      ConsumedCapacity: [ ...perTable ].map(function ([ name, units ]) {
        const consumed = { TableName: name, CapacityUnits: units.read + units.write }
        if (units.read) consumed.ReadCapacityUnits = units.read
        if (units.write) consumed.WriteCapacityUnits = units.write
        if (data.ReturnConsumedCapacity === 'INDEXES') consumed.Table = { CapacityUnits: units.read + units.write }
        return consumed
      }),
    }
  }
}

function isFailure (reason) {
  return reason.Code !== 'None'
}

function compare (a, b) {
  return a < b ? -1 : a > b ? 1 : 0
}

// ---- copied from dynalite 4.0.0 actions/updateItem.js (Apache License 2.0) --------------------

// Relatively fast deep clone of simple objects/arrays
function deepClone (obj) {
  if (typeof obj != 'object' || obj == null) return obj
  var result
  if (Array.isArray(obj)) {
    result = new Array(obj.length)
    for (var i = 0; i < obj.length; i++) {
      result[i] = deepClone(obj[i])
    }
  }
  else {
    result = Object.create(null)
    for (var attr in obj) {
      result[attr] = deepClone(obj[attr])
    }
  }
  return result
}

function applyUpdateExpression (sections, table, item) {
  var toSquash = []
  for (var i = 0; i < sections.length; i++) {
    var section = sections[i]
    if (section.type == 'set') {
      section.val = resolveValue(section.val, item)
      if (typeof section.val == 'string') {
        return db.validationError(section.val)
      }
    }
  }
  for (i = 0; i < sections.length; i++) {
    section = sections[i]
    var parent = db.mapPath(section.path.slice(0, -1), item)
    var attr = section.path[section.path.length - 1]
    if (parent == null || (typeof attr == 'number' ? parent.L : parent.M) == null) {
      return db.validationError('The document path provided in the update expression is invalid for update')
    }
    var existing = parent.M ? parent.M[attr] : parent.L[attr]
    var alreadyExists = existing != null
    if (section.type == 'remove') {
      deleteFromParent(parent, attr)
    }
    else if (section.type == 'delete') {
      if (alreadyExists && Object.keys(existing)[0] != section.attrType) {
        return db.validationError('An operand in the update expression has an incorrect data type')
      }
      if (alreadyExists) {
        existing[section.attrType] = existing[section.attrType].filter(function (val) {
          return !~section.val[section.attrType].indexOf(val)
        })
        if (!existing[section.attrType].length) {
          deleteFromParent(parent, attr)
        }
      }
    }
    else if (section.type == 'add') {
      if (alreadyExists && Object.keys(existing)[0] != section.attrType) {
        return db.validationError('An operand in the update expression has an incorrect data type')
      }
      if (section.attrType == 'N') {
        if (!existing) existing = { N: '0' }
        existing.N = new Big(existing.N).plus(section.val.N).toFixed()
      }
      else {
        if (!existing) existing = {}
        if (!existing[section.attrType]) existing[section.attrType] = []
        existing[section.attrType] = existing[section.attrType].concat(section.val[section.attrType].filter(function (a) {
          return !~existing[section.attrType].indexOf(a)
        }))
      }
      if (!alreadyExists) {
        addToParent(parent, attr, existing, toSquash)
      }
    }
    else if (section.type == 'set') {
      if (section.path.length == 1) {
        var err = db.traverseIndexes(table, function (attr, type) {
          if (section.path[0] == attr && section.val[type] == null) {
            return db.validationError('The update expression attempted to update the secondary index key to unsupported type')
          }
        })
        if (err) return err
      }
      addToParent(parent, attr, section.val, toSquash)
    }
  }
  toSquash.forEach(function (obj) { obj.L = obj.L.filter(Boolean) })
}

function resolveValue (val, item) {
  if (Array.isArray(val)) {
    val = db.mapPath(val, item)
  }
  else if (val.type == 'add' || val.type == 'subtract') {
    var val1 = resolveValue(val.args[0], item)
    if (typeof val1 == 'string') return val1
    if (val1.N == null) {
      return 'An operand in the update expression has an incorrect data type'
    }
    var val2 = resolveValue(val.args[1], item)
    if (typeof val2 == 'string') return val2
    if (val2.N == null) {
      return 'An operand in the update expression has an incorrect data type'
    }
    val = { N: new Big(val1.N)[val.type == 'add' ? 'plus' : 'minus'](val2.N).toFixed() }
  }
  else if (val.type == 'function' && val.name == 'if_not_exists') {
    val = db.mapPath(val.args[0], item) || resolveValue(val.args[1], item)
  }
  else if (val.type == 'function' && val.name == 'list_append') {
    val1 = resolveValue(val.args[0], item)
    if (typeof val1 == 'string') return val1
    if (val1.L == null) {
      return 'An operand in the update expression has an incorrect data type'
    }
    val2 = resolveValue(val.args[1], item)
    if (typeof val2 == 'string') return val2
    if (val2.L == null) {
      return 'An operand in the update expression has an incorrect data type'
    }
    return { L: val1.L.concat(val2.L) }
  }
  return val || 'The provided expression refers to an attribute that does not exist in the item'
}

function deleteFromParent (parent, attr) {
  if (parent.M) {
    delete parent.M[attr]
  }
  else if (parent.L) {
    parent.L.splice(attr, 1)
  }
}

function addToParent (parent, attr, val, toSquash) {
  if (parent.M) {
    parent.M[attr] = val
  }
  else if (parent.L) {
    if (attr > parent.L.length && !~toSquash.indexOf(parent)) {
      toSquash.push(parent)
    }
    parent.L[attr] = val
  }
}

// ---- the server --------------------------------------------------------------------------------

function main () {
  const options = parseArgs(process.argv.slice(2))

  // dynalite keeps its store private; catch it as dynalite creates it, for the transaction's locks.
  let store
  const createStore = db.create
  db.create = function (storeOptions) {
    store = createStore(storeOptions)
    return store
  }
  // Tables turn ACTIVE at once: nothing here depends on the CREATING state, and tests wait less.
  const server = dynalite({ createTableMs: 0, deleteTableMs: 0, updateTableMs: 0 })
  db.create = createStore

  const dynaliteHandler = server.listeners('request')[0]
  server.removeAllListeners('request')
  server.on('request', function (req, res) {
    if (options.latencyMs > 0) {
      const end = res.end
      res.end = function () {
        const args = arguments
        setTimeout(function () { end.apply(res, args) }, options.latencyMs)
        return res
      }
    }
    if (req.headers['x-amz-target'] === TARGET) return handleTransactWriteItems(store, req, res)
    dynaliteHandler(req, res)
  })

  server.listen(options.port, options.host, function () {
    process.stdout.write(JSON.stringify({ port: server.address().port }) + '\n')
  })
  const stop = function () { process.exit(0) }
  process.on('SIGTERM', stop)
  process.on('SIGINT', stop)
  if (options.exitOnStdinEof) {
    process.stdin.on('end', stop)
    process.stdin.on('error', stop)
    process.stdin.resume()
  }
}

main()
