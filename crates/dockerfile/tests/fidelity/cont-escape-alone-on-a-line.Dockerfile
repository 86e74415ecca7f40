FROM alpine AS base
RUN echo a \
\
  && echo b
FROM \
  busybox
