import json
import os
import sys


# Reports a record whose payload asks to fail on its first receive; the others succeed.
def handler(event, context):
    failures = []
    with open(os.path.join(os.environ["RECEIPTS_DIR"], "reports.jsonl"), "a") as receipts:
        for record in event["Records"]:
            payload = json.loads(record["body"])
            receive_count = int(record["attributes"]["ApproximateReceiveCount"])
            receipts.write(json.dumps({
                "payload": payload,
                "receiveCount": receive_count,
                "batchSize": len(event["Records"]),
                "python": sys.version_info[0],
            }) + "\n")
            if payload.get("failOnce") and receive_count == 1:
                failures.append({"itemIdentifier": record["messageId"]})
    return {"batchItemFailures": failures}
