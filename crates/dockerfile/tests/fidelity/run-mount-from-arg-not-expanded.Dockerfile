ARG TOOL=tool:1.2
FROM alpine
RUN --mount=from=$TOOL,target=/t true
