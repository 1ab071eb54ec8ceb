import { Suspense, lazy, startTransition, useEffect, useRef, type RefObject } from "react";
import { Link, NavLink, Route, Routes, useLocation, useNavigate, useParams } from "react-router";
import { useAuth } from "./auth/AuthContext";
import { Loading } from "./components/ErrorMessage";
import { RequireAuth } from "./components/RequireAuth";
import { Browse } from "./pages/Browse";
import { Detail } from "./pages/Detail";
import { Home } from "./pages/Home";
import { MyHistory, MyRatings } from "./pages/MyRatings";
import { NotFound } from "./pages/NotFound";
import { Search } from "./pages/Search";
import { SignIn, SignUp } from "./pages/SignIn";

// Few visitors open these, so they load only when asked for and keep the first load small.
const Account = lazy(() => import("./pages/Account"));
const Admin = lazy(() => import("./pages/Admin"));
const ImportRatings = lazy(() => import("./pages/ImportRatings"));

function Header() {
  const { token, user, isAdmin, signOut } = useAuth();
  const navigate = useNavigate();
  const signOutHere = () => {
    // One transition for both, so a page of the account is never shown signed out.
    startTransition(() => {
      navigate("/");
      signOut();
    });
  };
  return (
    <header className="site-header">
      <div className="site-header__inner">
        <Link to="/" className="brand">
          <span aria-hidden="true">★</span> CineLibre
        </Link>
        <nav aria-label="Main">
          <ul className="nav">
            <li>
              <NavLink to="/" end>
                Home
              </NavLink>
            </li>
            <li>
              <NavLink to="/movies">Movies</NavLink>
            </li>
            <li>
              <NavLink to="/books">Books</NavLink>
            </li>
            <li>
              <NavLink to="/search">Search</NavLink>
            </li>
            {token ? (
              <>
                <li>
                  <NavLink to="/me/ratings">My ratings</NavLink>
                </li>
                <li>
                  <NavLink to="/me/history">History</NavLink>
                </li>
                <li>
                  <NavLink to="/account">Account</NavLink>
                </li>
                {isAdmin && (
                  <li>
                    <NavLink to="/admin">Admin</NavLink>
                  </li>
                )}
                <li>
                  <button type="button" className="link-button" onClick={signOutHere}>
                    Sign out
                  </button>
                  {user && <span className="visually-hidden"> (signed in as {user.name})</span>}
                </li>
              </>
            ) : (
              <>
                <li>
                  <NavLink to="/signin">Sign in</NavLink>
                </li>
                <li>
                  <NavLink to="/signup">Sign up</NavLink>
                </li>
              </>
            )}
          </ul>
        </nav>
      </div>
    </header>
  );
}

/** After a client-side navigation, focus moves to the new page, as a full page load would. */
function useFocusOnNavigation(target: RefObject<HTMLElement | null>) {
  const { pathname } = useLocation();
  const shown = useRef(pathname);
  useEffect(() => {
    if (shown.current === pathname) return;
    shown.current = pathname;
    window.scrollTo(0, 0);
    target.current?.focus({ preventScroll: true });
  }, [pathname, target]);
}

/** A fresh page per item: nothing of the film just left is shown as the next one loads. */
function ItemPage({ itemType }: { itemType: "movie" | "book" }) {
  const { id } = useParams();
  return <Detail key={`${itemType}-${id}`} itemType={itemType} />;
}

export function App() {
  const main = useRef<HTMLElement>(null);
  useFocusOnNavigation(main);
  return (
    <>
      <a href="#main" className="skip-link">
        Skip to content
      </a>
      <Header />
      <main id="main" ref={main} tabIndex={-1}>
        <Suspense fallback={<Loading />}>
          <Routes>
            <Route path="/" element={<Home />} />
            <Route path="/movies" element={<Browse key="movie" itemType="movie" />} />
            <Route path="/movies/:id" element={<ItemPage itemType="movie" />} />
            <Route path="/books" element={<Browse key="book" itemType="book" />} />
            <Route path="/books/:id" element={<ItemPage itemType="book" />} />
            <Route path="/search" element={<Search />} />
            <Route path="/signin" element={<SignIn />} />
            <Route path="/signup" element={<SignUp />} />
            <Route path="/me/ratings" element={<RequireAuth><MyRatings /></RequireAuth>} />
            <Route path="/me/history" element={<RequireAuth><MyHistory /></RequireAuth>} />
            <Route path="/me/import" element={<RequireAuth><ImportRatings /></RequireAuth>} />
            <Route path="/account" element={<RequireAuth><Account /></RequireAuth>} />
            <Route path="/admin" element={<RequireAuth><Admin /></RequireAuth>} />
            <Route path="*" element={<NotFound />} />
          </Routes>
        </Suspense>
      </main>
      <footer className="site-footer">
        <p>CineLibre: films and books recommended by people with your taste.</p>
      </footer>
    </>
  );
}
