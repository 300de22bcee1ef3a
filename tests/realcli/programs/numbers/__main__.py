"""Whole and fractional numbers through the real engine (see Pulumi.yaml)."""

import pulumi

# The values the project's manifests hold: Logic App status codes, retention days, counts; floats
# that are whole, as the SDK sends every number (protobuf double), and real fractions.
VALUES = {"retentionInDays": 90, "statusCode": 200.0, "ratio": 0.5, "nested": {"count": 3.0, "items": [0.0, 1, 2.5]}}


class Numbers(pulumi.ComponentResource):
    def __init__(self, name: str) -> None:
        super().__init__("test:index:Numbers", name, VALUES)
        self.register_outputs({})


Numbers("numbers")
pulumi.export("values", VALUES)
