FROM busybox:${SOURCE_DATE_EPOCH:-unset}
