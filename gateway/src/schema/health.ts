import { operatorOnly } from "../auth/rules.ts";
import type {
  GroupHealth,
  PipelineHealthReport,
  ServiceHealth,
  StreamHealth,
} from "../health/pipeline-health.ts";
import { builder } from "./builder.ts";

const StreamHealthRef = builder.objectRef<StreamHealth>("StreamHealth").implement({
  fields: (t) => ({
    name: t.exposeString("name", {
      description: "The event type, or dead-letter, or feed (the projected events).",
    }),
    length: t.exposeInt("length", { description: "Entries in the stream now." }),
  }),
});

const GroupHealthRef = builder.objectRef<GroupHealth>("GroupHealth").implement({
  description: "One consumer group on one stream.",
  fields: (t) => ({
    stream: t.exposeString("stream"),
    group: t.exposeString("group"),
    consumers: t.exposeInt("consumers", { description: "Consumers registered in the group." }),
    pending: t.exposeInt("pending", { description: "Delivered, not yet acknowledged." }),
    lag: t.exposeInt("lag", {
      nullable: true,
      description: "Not yet delivered; null when Redis cannot tell.",
    }),
    throughputPerSecond: t.exposeFloat("throughputPerSecond", {
      description: "Entries read per second over the last few seconds.",
    }),
  }),
});

const ServiceHealthRef = builder.objectRef<ServiceHealth>("ServiceHealth").implement({
  description: "One service (consumer group) over every stream it reads.",
  fields: (t) => ({
    name: t.exposeString("name"),
    consumers: t.exposeInt("consumers", { description: "Its consumers (replicas)." }),
    pending: t.exposeInt("pending"),
    lag: t.exposeInt("lag", { nullable: true }),
    throughputPerSecond: t.exposeFloat("throughputPerSecond"),
  }),
});

const PipelineHealthRef = builder.objectRef<PipelineHealthReport>("PipelineHealth").implement({
  description: "The pipeline at a glance: streams, consumer groups and services.",
  fields: (t) => ({
    streams: t.field({ type: [StreamHealthRef], resolve: (report) => report.streams }),
    groups: t.field({ type: [GroupHealthRef], resolve: (report) => report.groups }),
    services: t.field({ type: [ServiceHealthRef], resolve: (report) => report.services }),
    deadLetterCount: t.exposeInt("deadLetterCount"),
    sampledAt: t.expose("sampledAt", { type: "DateTime" }),
  }),
});

builder.queryFields((t) => ({
  pipelineHealth: t.field({
    type: PipelineHealthRef,
    description: "Consumers, pending entries, lag and throughput of every stage (operators only).",
    resolve: (_root, _args, { services, auth }) => {
      operatorOnly(auth);
      return services.health.report();
    },
  }),
}));
