"""Reading and validating data: the schema, file and database sources, the DuckDB engine, the Ibis
aggregation layer, ``Dataset``, calendar helpers and the sample generator."""
