ARG SOURCE_DATE_EPOCH=yesterday
FROM busybox
