
FROM busybox AS target
COPY --from=build / /out

FROM alpine AS build
COPY /Dockerfile /d2

FROM target
