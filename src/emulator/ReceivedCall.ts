/** One request the emulator received on a known route, with what it answered. */
export interface ReceivedCall {
  operation: "BatchGetUserAccessTasks" | "StartUserAccessTasks";
  appBundleIdentifier: string | undefined;
  /** As received, before validation. */
  taskIdList: string[];
  /** The access key id that signed it, if any. */
  accessKeyId: string | undefined;
  /**
   * The HTTP status answered; 0 while unanswered or when the emulator dropped the connection, 499
   * when the client went away first (nginx's "client closed request").
   */
  status: number;
}
