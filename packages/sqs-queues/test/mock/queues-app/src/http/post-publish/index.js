const arc = require('@architect/functions')

// Publishes what the caller asks for, exactly as an app written for stock Architect does.
exports.handler = async function publish (req) {
  const { type = 'queues', name, payload, delaySeconds, groupID } = JSON.parse(req.body || '{}')
  try {
    const result = await arc[type].publish({ name, payload, delaySeconds, groupID })
    return { statusCode: 200, headers: { 'content-type': 'application/json' }, body: JSON.stringify({ result }) }
  }
  catch (err) {
    return { statusCode: 502, headers: { 'content-type': 'application/json' }, body: JSON.stringify({ error: err.message }) }
  }
}
