"""The EV charging network: Central, charging point engines and monitors, and drivers over Kafka."""

__version__ = "0.1.0"
