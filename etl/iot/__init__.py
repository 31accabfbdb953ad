"""IoT monitoring backbone: the MQTT broker manager, the ingester, the
threshold evaluator and the simulator (see etl/iot/ingest.py for the message format)."""
