export * from "./address.ts";
export * from "./errors.ts";
export * from "./prefix.ts";
export * from "./range.ts";
