#!/usr/bin/python3
"""Prints an AdmissionReview (admission.k8s.io/v1, CREATE) for the load benchmark.

  make_review.py            the seed's basic-usage Application: one component, one trait to default
  make_review.py N          N components, each a realistic DynamoDB table (keys, a GSI, tags) with a
                            dynamodb-streams-kro trait to default: about 0.83 KB per component, so
                            300 components make ~250 KB and 1900 make ~1.5 MiB
"""
import json
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "test", "support"))
from reviews import review_for  # noqa: E402  the one AdmissionReview builder of the Python suites


def basic_component():
    return {"name": "user-table", "type": "aws-dynamodb-kro",
            "properties": {"tableName": "users-table", "region": "us-east-1",
                           "attributeDefinitions": [{"attributeName": "userId", "attributeType": "S"}],
                           "keySchema": [{"attributeName": "userId", "keyType": "HASH"}]},
            "traits": [{"type": "dynamodb-streams-kro"}]}


def large_component(i):
    return {"name": f"orders-table-{i:04d}", "type": "aws-dynamodb-kro",
            "properties": {
                "tableName": f"orders-{i:04d}", "region": "eu-west-1", "billingMode": "PAY_PER_REQUEST",
                "attributeDefinitions": [{"attributeName": "customerId", "attributeType": "S"},
                                         {"attributeName": "orderId", "attributeType": "S"},
                                         {"attributeName": "status", "attributeType": "S"},
                                         {"attributeName": "createdAt", "attributeType": "N"}],
                "keySchema": [{"attributeName": "customerId", "keyType": "HASH"},
                              {"attributeName": "orderId", "keyType": "RANGE"}],
                "globalSecondaryIndexes": [{
                    "indexName": "status-createdAt-index",
                    "keySchema": [{"attributeName": "status", "keyType": "HASH"},
                                  {"attributeName": "createdAt", "keyType": "RANGE"}],
                    "projection": {"projectionType": "ALL"}}],
                "pointInTimeRecovery": True,
                "tags": {"team": "commerce", "cost-center": f"cc-{i % 17:03d}", "env": "production"}},
            "traits": [{"type": "dynamodb-streams-kro"}]}


def review(components):
    app = {"apiVersion": "core.oam.dev/v1beta1", "kind": "Application",
           "metadata": {"name": "user-table-with-streams", "namespace": "default",
                        "uid": "7f0c1e2a-3b4c-4d5e-8f90-1a2b3c4d5e6f", "generation": 1, "labels": {"team": "data"}},
           "spec": {"components": components}}
    return review_for(app, uid="705ab4f5-6393-11e8-b7cc-42010a800002")


def main(argv):
    if len(argv) > 2 or (len(argv) == 2 and not argv[1].isdigit()):
        sys.exit("usage: make_review.py [COMPONENTS]")
    if len(argv) == 1:
        comps = [basic_component()]
    else:
        n = int(argv[1])
        if not 1 <= n <= 100000:
            sys.exit("make_review.py: COMPONENTS must be from 1 to 100000")
        comps = [large_component(i) for i in range(n)]
    print(json.dumps(review(comps), separators=(",", ":")))


if __name__ == "__main__":
    main(sys.argv)
