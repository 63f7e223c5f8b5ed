import react from "@vitejs/plugin-react";
import { defineProject } from "vitest/config";

/** The dashboard's unit and component tests (DOM by happy-dom); see the README. */
export default defineProject({
  plugins: [react()],
  test: {
    name: "web",
    root: import.meta.dirname,
    include: ["src/**/*.test.{ts,tsx}", "scripts/**/*.test.ts"],
    environment: "happy-dom",
    setupFiles: ["./src/test-setup.ts"],
  },
});
