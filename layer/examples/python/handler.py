"""Example function for layer/template.yaml: gavel is attached by the template (layer plus
AWS_LAMBDA_EXEC_WRAPPER), not by this code, which knows nothing about it.

Answers like an API Gateway / function URL backend: echoes the request body back. Send it an
event carrying the EICAR test string or `' OR '1'='1` and the verdict queue receives a deny record;
with GAVEL_MODE=enforce the caller gets a Gavel.Blocked error instead of this answer.
"""
import json


def handler(event, context):
    body = event.get("body") if isinstance(event, dict) else None
    return {
        "statusCode": 200,
        "headers": {"content-type": "application/json"},
        "body": json.dumps({"requestId": context.aws_request_id, "echo": body}),
    }
