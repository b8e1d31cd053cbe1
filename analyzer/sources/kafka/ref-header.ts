/** Optional Kafka message header naming the record's origin (replay sets `traffic.jsonl:LINE`). */
export const REF_HEADER = 'meshscope-ref';
