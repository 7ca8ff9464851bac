# Dead-letter queue of the detect function: the on-failure destination of its asynchronous
# invocations. Lambda sends an invocation record holding the whole batch (up to 256 KiB of
# payload) plus an envelope, so the queue takes SQS's largest message size; the provider's
# default of 262144 bytes would make Lambda drop the record, and the batch with it.
resource "aws_sqs_queue" "detect_dlq" {
  name                              = "${var.name}-detect-dlq"
  max_message_size                  = 1048576
  message_retention_seconds         = 1209600
  visibility_timeout_seconds        = 300
  kms_master_key_id                 = aws_kms_key.main.arn
  kms_data_key_reuse_period_seconds = 300
  tags                              = local.tags
}
