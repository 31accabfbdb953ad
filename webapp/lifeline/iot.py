"""IoT monitoring (R119): SensorThings-style things, sensors, datastreams, observations; device counts on the map; alarms."""
