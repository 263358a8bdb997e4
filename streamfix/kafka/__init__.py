"""The one Kafka adapter: clients, transport, codecs, topic specs, changelog views, wire records, local broker."""  # noqa: E501
