"""Risk model (R106–R110, R118): risk categories, responsibility list, levels, collection and review of risk points, LEC assessment, risk maps and lists."""
