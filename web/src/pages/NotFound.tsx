import { Link } from "react-router";
import { useDocumentTitle } from "../hooks/useDocumentTitle";

export function NotFound({ what = "page" }: { what?: string }) {
  useDocumentTitle("Not found");
  return (
    <>
      <h1>Not found</h1>
      <p>
        There is no such {what} here. Try <Link to="/search">searching</Link> or go back to the{" "}
        <Link to="/">home page</Link>.
      </p>
    </>
  );
}
