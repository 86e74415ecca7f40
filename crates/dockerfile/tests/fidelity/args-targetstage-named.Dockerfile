FROM busybox:${TARGETSTAGE} AS build
FROM alpine:${TARGETSTAGE} AS final
