ARG SOURCE_DATE_EPOCH=Epoch
FROM scratch AS epoch
ADD https://example.com/src.tar.gz /
FROM busybox
