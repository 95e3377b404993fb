"""Customer churn: weekly summaries of the transaction stream, RFM features, churn models, scores, alerts.

The pure layer: every module here works on pandas frames and files, with no broker. The Kafka layer hands
`job.ChurnJob` chunks of transactions (`summaries.transactions_frame`) and receives its outputs through
sinks (`job.ChurnSinks`).
"""
